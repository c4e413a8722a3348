//go:build !unix

package storage

import "time"

// processCPU is not measured here: Result.CPU stays zero.
func processCPU() time.Duration { return 0 }
