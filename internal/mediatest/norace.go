//go:build !race

package mediatest

const raceBuild = false
