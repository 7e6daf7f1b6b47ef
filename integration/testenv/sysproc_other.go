//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts the child in its own process group. Outside Linux there is
// no parent-death signal, so a test binary killed before its cleanups run
// can leave a server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
