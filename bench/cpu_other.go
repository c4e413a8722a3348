//go:build !unix

package bench

import "time"

// ProcessCPU is not measured here: Result.CPU stays zero.
func ProcessCPU() time.Duration { return 0 }
