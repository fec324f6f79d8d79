package stack

import "syscall"

// errSourceIsolated is the errno of ICMP "source host isolated", as Linux
// reports it.
const errSourceIsolated = syscall.ENONET
