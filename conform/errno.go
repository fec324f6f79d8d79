package conform

import (
	"strconv"
	"syscall"
)

// errnos are the error names a script may expect, as C and packetdrill
// write them.
var errnos = []struct {
	name  string
	errno syscall.Errno
}{
	{"EAGAIN", syscall.EAGAIN},
	{"EINPROGRESS", syscall.EINPROGRESS},
	{"EALREADY", syscall.EALREADY},
	{"EISCONN", syscall.EISCONN},
	{"ENOTCONN", syscall.ENOTCONN},
	{"ECONNREFUSED", syscall.ECONNREFUSED},
	{"ECONNRESET", syscall.ECONNRESET},
	{"ECONNABORTED", syscall.ECONNABORTED},
	{"EPIPE", syscall.EPIPE},
	{"ETIMEDOUT", syscall.ETIMEDOUT},
	{"EHOSTUNREACH", syscall.EHOSTUNREACH},
	{"ENETUNREACH", syscall.ENETUNREACH},
	{"EADDRINUSE", syscall.EADDRINUSE},
	{"EADDRNOTAVAIL", syscall.EADDRNOTAVAIL},
	{"EINVAL", syscall.EINVAL},
	{"EBADF", syscall.EBADF},
	{"ENOTSOCK", syscall.ENOTSOCK},
	{"EOPNOTSUPP", syscall.EOPNOTSUPP},
	{"ENOPROTOOPT", syscall.ENOPROTOOPT},
	{"EMSGSIZE", syscall.EMSGSIZE},
	{"EINTR", syscall.EINTR},
	{"EFAULT", syscall.EFAULT},
	{"EPROTO", syscall.EPROTO},
	{"EIO", syscall.EIO},
}

// errnoByName returns the errno that name names.
func errnoByName(name string) (syscall.Errno, bool) {
	if name == "EWOULDBLOCK" {
		return syscall.EAGAIN, true
	}
	for _, e := range errnos {
		if e.name == name {
			return e.errno, true
		}
	}
	return 0, false
}

// ErrnoName returns the C name of e, such as "ECONNRESET", or "errno N"
// for one a script cannot name.
func ErrnoName(e syscall.Errno) string {
	for _, x := range errnos {
		if x.errno == e {
			return x.name
		}
	}
	return "errno " + strconv.Itoa(int(e))
}
