//go:build !linux

package lowprio

func lower() error { return ErrUnsupported }
