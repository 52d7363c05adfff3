package web

import (
	"net"
	"sort"
	"strings"
)

// Address is a candidate address that viewers on the network may reach.
type Address struct {
	IP        string `json:"ip"`
	Interface string `json:"interface"`
	Preferred bool   `json:"preferred"`
}

// virtualPrefixes name interfaces of containers, VMs and VPN tunnels that
// students' phones on the school Wi-Fi cannot reach.
var virtualPrefixes = []string{"docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "cni", "flannel", "tun", "tap", "wg", "zt", "utun", "lxc", "lxd", "podman", "ifb"}

func isVirtual(name string) bool {
	for _, p := range virtualPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// LANAddresses lists the addresses of interfaces that are up, skipping
// loopback, link-local and virtual bridges. IPv4 private addresses come
// first, and the first of the list is marked preferred.
func LANAddresses() []Address {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []Address
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || isVirtual(ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipn.IP
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
				continue
			}
			out = append(out, Address{IP: ip.String(), Interface: ifc.Name})
		}
	}
	rank := func(a Address) int {
		ip := net.ParseIP(a.IP)
		switch {
		case ip.To4() != nil && ip.IsPrivate():
			return 0
		case ip.To4() != nil:
			return 1
		default:
			return 2
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	if len(out) > 0 {
		out[0].Preferred = true
	}
	return out
}
