//go:build !unix

package clusters

import "time"

// cpuTime is unknown here: CPU figures read zero.
func cpuTime() time.Duration { return 0 }
