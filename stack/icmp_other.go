//go:build !linux

package stack

import "syscall"

// errSourceIsolated is the errno of ICMP "source host isolated": Linux's
// ENONET, which other systems lack, becomes EHOSTUNREACH.
const errSourceIsolated = syscall.EHOSTUNREACH
