//go:build linux

// Command syncprobe measures what making a write durable costs on a disk:
// the wall time and the CPU time (user and system, of this process) of
// each way of doing it that the spool could use. On a virtual disk every
// request to the device costs the guest CPU, and the spool pays one group
// commit's worth for every few records, so the CPU column is the one that
// bears on throughput.
//
// Usage:
//
//	go run ./bench/cmd/syncprobe -dir /var/lib/lyumen -n 1000
//
// The O_DIRECT variants are skipped where the file system refuses O_DIRECT
// (tmpfs).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "where to put the probe's 64 MiB file: the disk the spool would use")
	n := flag.Int("n", 1000, "operations per variant")
	flag.Parse()
	if err := run(*dir, *n); err != nil {
		fmt.Fprintln(os.Stderr, "syncprobe:", err)
		os.Exit(1)
	}
}

func run(dir string, n int) error {
	path := filepath.Join(dir, fmt.Sprintf("syncprobe-%d.dat", os.Getpid()))
	defer os.Remove(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// Written and synced first, as the spool preallocates its segments:
	// later writes then change no block allocation, only data.
	const size = 64 << 20
	if _, err := f.Write(make([]byte, size)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	buf := aligned(32 << 10) // O_DIRECT needs aligned memory
	for i := range buf {
		buf[i] = byte(i)
	}
	at := func(i, length int) int64 { return int64(i*length) % (size - int64(length)) } // where the i-th write goes
	fd := int(f.Fd())

	fmt.Printf("%s, %d operations each\n\n| variant | CPU per op | wall per op |\n|---|---|---|\n", dir, n)
	probe := func(name string, op func(i int) error) error {
		cpu0, t0 := processCPU(), time.Now()
		for i := range n {
			if err := op(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		cpu, wall := processCPU()-cpu0, time.Since(t0)
		fmt.Printf("| %s | %.1f µs | %.1f µs |\n", name,
			float64(cpu.Microseconds())/float64(n), float64(wall.Microseconds())/float64(n))
		return nil
	}
	write := func(g *os.File, length int) func(int) error {
		return func(i int) error { _, err := g.WriteAt(buf[:length], at(i, length)); return err }
	}
	writeSync := func(g *os.File, length int) func(int) error {
		return func(i int) error {
			if _, err := g.WriteAt(buf[:length], at(i, length)); err != nil {
				return err
			}
			return syscall.Fdatasync(int(g.Fd()))
		}
	}
	steps := []struct {
		name string
		op   func(int) error
	}{
		{"pwrite 32 KiB, no sync (page cache)", write(f, 32<<10)},
		{"fdatasync, nothing dirty", func(int) error { return syscall.Fdatasync(fd) }},
		{"pwrite 4 KiB + fdatasync", writeSync(f, 4<<10)},
		{"pwrite 32 KiB + fdatasync (the spool's group commit)", writeSync(f, 32<<10)},
	}
	for _, s := range steps {
		if err := probe(s.name, s.op); err != nil {
			return err
		}
	}
	dsync, err := os.OpenFile(path, os.O_RDWR|syscall.O_DSYNC, 0)
	if err != nil {
		return err
	}
	defer dsync.Close()
	if err := probe("O_DSYNC pwrite 32 KiB", write(dsync, 32<<10)); err != nil {
		return err
	}
	direct, err := os.OpenFile(path, os.O_RDWR|syscall.O_DIRECT, 0)
	if err != nil {
		fmt.Printf("\nO_DIRECT refused here (%v): its variants skipped\n", err)
		return nil
	}
	defer direct.Close()
	directSync, err := os.OpenFile(path, os.O_RDWR|syscall.O_DIRECT|syscall.O_DSYNC, 0)
	if err != nil {
		return err
	}
	defer directSync.Close()
	for _, s := range []struct {
		name string
		op   func(int) error
	}{
		{"O_DIRECT pwrite 32 KiB, no sync", write(direct, 32<<10)},
		{"O_DIRECT pwrite 32 KiB + fdatasync", writeSync(direct, 32<<10)},
		{"O_DIRECT + O_DSYNC pwrite 4 KiB", write(directSync, 4<<10)},
		{"O_DIRECT + O_DSYNC pwrite 32 KiB", write(directSync, 32<<10)},
	} {
		if err := probe(s.name, s.op); err != nil {
			return err
		}
	}
	return nil
}

// aligned returns n bytes starting on a 4 KiB boundary.
func aligned(n int) []byte {
	b := make([]byte, n+4096)
	off := (4096 - int(uintptr(unsafe.Pointer(&b[0]))&4095)) & 4095
	return b[off : off+n]
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
