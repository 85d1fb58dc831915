"""Who is at the other end of a connection on this machine, told by the kernel.

A flux-restful server on this machine listens on a TCP port that any local account could hold
while the server is down (a restart, a crash): whoever holds it would receive every login,
password included (the token handshake's JWT is signed, not encrypted). So a client that
connects to an address of this machine first asks the kernel who owns the socket that
accepted the connection, and sends nothing unless that account is trusted.

The kernel gives each socket's owner, also for a connection still waiting in the listener's
accept queue (it carries the listener's uid): one look-up by address over sock_diag netlink
(as `ss` asks; a few microseconds), else its socket tables (/proc/net/tcp and tcp6, read
whole: about 1.5 ms with a few hundred sockets, more with more).
Trusted: root, this process's own account, and the accounts named in $FLUX_HUB_TRUSTED_USERS
(user names or uids, separated by commas or spaces), e.g. the account a hub that is not root
runs a cluster or a relay as, handed to servers that run as other accounts.

Connections to other machines are not checked (their sockets are not in these tables).
"""

import errno
import ipaddress
import os
import pwd
import re
import socket
import struct
import sys

TRUSTED_ENV = "FLUX_HUB_TRUSTED_USERS"
TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
LISTEN = "0A"  # the kernel's TCP_LISTEN, as the tables print it
# States whose uid is not the owner's (0): TIME_WAIT, SYN_RECV, NEW_SYN_RECV
NOT_OWNED = {6, 3, 12}
# linux/sock_diag.h, inet_diag.h, netlink.h
NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, NLMSG_ERROR = 4, 20, 1, 2
INET_DIAG_NOCOOKIE = 0xFFFFFFFF


class PeerRefused(Exception):
    """The connection reached a socket of an account that is not trusted; nothing was sent."""


def trusted_uids():
    """Root, this process's real and effective uids, and those of $FLUX_HUB_TRUSTED_USERS."""
    uids = {0, os.getuid(), os.geteuid()}
    for entry in re.split(r"[\s,]+", os.environ.get(TRUSTED_ENV, "")):
        uid = uid_of(entry)
        if uid is not None:
            uids.add(uid)
    return uids


def uid_of(entry):
    """The uid of a user name or uid (an int or its digits); None for an unknown name."""
    if isinstance(entry, int):
        return entry
    entry = str(entry).strip()
    if entry.isdigit():
        return int(entry)
    try:
        return pwd.getpwnam(entry).pw_uid if entry else None
    except KeyError:
        return None


def describe(uid):
    """'bob (uid 1001)', or 'uid 1001' for a uid without a name."""
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_server(sock):
    """Raise PeerRefused unless the server end of connected ``sock`` is a trusted account's
    socket (or on another machine, where the kernel cannot say). Nothing is read or sent."""
    if sys.platform != "linux":
        return  # no socket tables to ask; only Linux is supported for shared machines
    local, remote = sock.getsockname()[:2], sock.getpeername()[:2]
    if not _maybe_this_machine(local[0], remote[0]):
        return
    # The server's socket: local is our remote, remote our local
    uid = owner(remote, local)
    host, port = remote
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if uid is None:
        raise PeerRefused(f"cannot tell which account answers at {where}; nothing was sent to it")
    if uid not in trusted_uids():
        raise PeerRefused(
            f"{where} is held by {describe(uid)}, not by an account this client trusts; "
            "nothing was sent to it. The cluster may be down and its port taken: ask the "
            f"hub's admin to stop that program and restart the cluster (or add the account "
            f"to ${TRUSTED_ENV} if it runs the cluster)"
        )


def client_owner(conn):
    """The uid of the process that opened accepted connection ``conn``, when it is on this
    machine; None when it is not (or is gone)."""
    return owner(conn.getpeername()[:2], conn.getsockname()[:2])


def owner(local, remote):
    """The uid owning the TCP socket of this machine whose own address is ``local`` and whose
    peer is ``remote`` ((ip, port) pairs), or None when there is none."""
    local, remote = (_plain(local[0]), local[1]), (_plain(remote[0]), remote[1])
    try:
        return _diag_owner(local, remote)
    except OSError:  # no sock_diag here: the tables
        return _table_owner(local, remote)


def _diag_owner(local, remote):
    """owner() by one sock_diag look-up (the kernel finds the socket by its addresses)."""
    family = socket.AF_INET6 if ":" in local[0] else socket.AF_INET

    def address(ip):
        return socket.inet_pton(family, ip).ljust(16, b"\0")

    sockid = struct.pack("!HH", local[1], remote[1]) + address(local[0]) + address(remote[0])
    sockid += struct.pack("=III", 0, INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE)
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as link:
        link.sendto(header + request, (0, 0))
        answer = link.recv(8192)
    kind = struct.unpack_from("=H", answer, 4)[0]
    if kind == NLMSG_ERROR:
        code = -struct.unpack_from("=i", answer, 16)[0]
        if code == errno.ENOENT:
            return None
        raise OSError(code, os.strerror(code))
    if kind != SOCK_DIAG_BY_FAMILY or len(answer) < 16 + 72:
        raise OSError(errno.EPROTO, "unexpected sock_diag answer")
    # inet_diag_msg: family, state, timer, retrans, its sockid (48), expires, rqueue, wqueue,
    # uid, inode
    state = answer[17]
    uid = struct.unpack_from("=I", answer, 16 + 4 + 48 + 12)[0]
    return None if state in NOT_OWNED else uid


def _table_owner(local, remote):
    """owner() from /proc/net/tcp and tcp6."""
    # An IPv4 connection's socket is in tcp, or in tcp6 as IPv4-mapped (a dual-stack socket)
    v6 = ":" in local[0]
    for table, mapped in [(TABLES[1], False)] if v6 else [(TABLES[0], False), (TABLES[1], True)]:
        pattern = (
            f" {_hex(local[0], mapped)}:{local[1]:04X} {_hex(remote[0], mapped)}:{remote[1]:04X} "
        )
        text = _read(table)
        at = text.find(pattern)
        while at >= 0:
            fields = text[text.rfind("\n", 0, at) + 1 : text.find("\n", at)].split()
            if int(fields[3], 16) not in NOT_OWNED:
                return int(fields[7])
            at = text.find(pattern, at + 1)
    return None


def listeners(port):
    """[(address, uid, inode)] of the sockets listening on TCP ``port`` on this machine."""
    found = []
    suffix = f":{port:04X}"
    for table in TABLES:
        for line in _read(table).splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and fields[1].endswith(suffix):
                address = _address(fields[1].split(":")[0])
                found.append((address, int(fields[7]), int(fields[9])))
    return found


def listening(host, port):
    """[(address, uid, inode)] of the sockets listening where a connection to ``host``:``port``
    goes: on that address itself or on a wildcard one."""
    try:
        wanted = ipaddress.ip_address(host)
    except ValueError:
        wanted = None
    return [
        (address, uid, inode)
        for address, uid, inode in listeners(port)
        if wanted is None or address.is_unspecified or _same(address, wanted)
    ]


def holder(host, port):
    """The uid of whoever listens where a connection to ``host``:``port`` goes, or None."""
    found = listening(host, port)
    return found[0][1] if found else None


def _same(a, b):
    a = a.ipv4_mapped or a if a.version == 6 else a
    b = b.ipv4_mapped or b if b.version == 6 else b
    return a == b


def _plain(ip):
    """An IPv4-mapped IPv6 address as the IPv4 address it is."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return ip


def is_loopback(ip):
    """Whether ``ip`` is a loopback address (IPv4-mapped ones included)."""
    try:
        return ipaddress.ip_address(_plain(ip)).is_loopback
    except ValueError:
        return False


def _maybe_this_machine(local, remote):
    """A loopback peer, or one at our own address (a connection to one of this machine's
    addresses goes out from that same address)."""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return True
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or remote == local


def _hex(ip, mapped):
    """``ip`` as the tables print it: 32-bit words in host order. ``mapped``: an IPv4 address
    as an IPv4-mapped IPv6 one (a dual-stack socket's view of it)."""
    address = ipaddress.ip_address(ip)
    if address.version == 4 and mapped:
        address = ipaddress.IPv6Address(f"::ffff:{ip}")
    packed = address.packed
    return "".join(
        f"{int.from_bytes(packed[i : i + 4], sys.byteorder):08X}" for i in range(0, len(packed), 4)
    )


def _address(text):
    packed = b"".join(
        int(text[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(text), 8)
    )
    return ipaddress.ip_address(packed)


def _read(table):
    try:
        with open(table) as f:
            return f.read()
    except FileNotFoundError:  # no IPv6 in this kernel
        return ""
