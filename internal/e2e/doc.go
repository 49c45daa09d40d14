// Package e2e holds Frontwire's reliability tests: they build the real bot
// binary, run it against a fake Telegram Bot API server and local feed
// servers, and kill, stop, starve and feed it hostile input, checking that
// no alert is lost, bbolt survives, and no secret leaks into the output.
//
// The package has no non-test code. The figures the tests print are
// collected in docs/RELIABILITY.md with the commands that reproduce them.
// Runs that take minutes sit behind the -long flag.
package e2e
