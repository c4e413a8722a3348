//go:build !linux

package lowprio

const supported = false

func lower() error { return ErrUnsupported }
