package spool

import (
	"os"
	"syscall"
)

// datasync makes f's written data durable without its metadata, which an
// overwrite in place leaves unchanged.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
