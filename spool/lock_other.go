//go:build !unix

package spool

import "os"

// lockDir opens the lock file; without flock it cannot keep a second
// process out, so run one process per spool directory.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}
