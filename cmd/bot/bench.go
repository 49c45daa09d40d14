package main

import (
	"context"
	"io"
)

// benchMatch is filled in with the matcher's benchmark runner.
func benchMatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return nil
}
