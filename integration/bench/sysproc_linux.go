package bench

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel kill
// it if the bench dies without stopping it (SIGKILL, a panic). Pdeathsig
// fires when the forking thread exits; Go only ends a thread that a
// goroutine left locked, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
