//go:build tools

// Package tools pins the NetAuth server and CLIs used by the integration tests.
// The build tag keeps it out of every build; it exists so go.mod/go.sum record v0.6.4.
package tools

import (
	_ "github.com/netauth/netauth/cmd/netauth"
	_ "github.com/netauth/netauth/cmd/netauthd"
	_ "github.com/netauth/netauth/cmd/nsutil"
)
