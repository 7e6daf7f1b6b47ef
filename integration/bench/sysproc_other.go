//go:build unix && !linux

package bench

import "syscall"

// sysProcAttr puts the child in its own process group. Outside Linux there is
// no parent-death signal, so a bench killed before it stops its servers can
// leave them behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
