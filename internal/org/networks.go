package org

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kepu/kepu/internal/audit"
	"github.com/kepu/kepu/internal/kepu"
	"github.com/kepu/kepu/internal/postgres"
)

// Bounds of a school's registered networks: a school's NAT shows the
// internet a handful of addresses, so 16 blocks is plenty, and a block
// larger than an IPv4 /20 (4,096 addresses) or an IPv6 /48 is a city's or an
// operator's, not a school's.
const (
	MaxSchoolNetworks = 16
	minPrefixV4       = 20
	minPrefixV6       = 48
)

// ParseNetwork validates one school address: an IP ("203.0.113.7") or a
// CIDR block ("203.0.113.0/28"), returned in canonical form (host bits
// cleared, single addresses as /32 or /128). Loopback, unspecified,
// multicast and link-local addresses and blocks larger than /20 (IPv4) or
// /48 (IPv6) are refused: they are never a school's public address.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	bad := kepu.Invalid("networks", "error.network_invalid").With("network", s)
	if len(s) > 64 {
		return netip.Prefix{}, bad.With("network", s[:64]+"…")
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, bad
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, bad
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if !p.IsValid() {
		return netip.Prefix{}, bad
	}
	a := p.Addr()
	if a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		return netip.Prefix{}, bad
	}
	if (a.Is4() && p.Bits() < minPrefixV4) || (a.Is6() && p.Bits() < minPrefixV6) {
		return netip.Prefix{}, kepu.Invalid("networks", "error.network_too_large").
			With("network", s).With("v4", minPrefixV4).With("v6", minPrefixV6)
	}
	return p, nil
}

// schoolForManager returns the school if the actor may manage it: an admin,
// or an organizer whose scope holds the school's district.
func (s *Service) schoolForManager(ctx context.Context, a kepu.Actor, schoolID int64) (School, error) {
	if !a.Is(kepu.RoleAdmin, kepu.RoleOrganizer) {
		return School{}, kepu.Forbidden
	}
	sc, err := s.School(ctx, schoolID)
	if err != nil {
		return School{}, err
	}
	if err := s.CheckRegion(ctx, a, sc.RegionID); err != nil {
		return School{}, err
	}
	return sc, nil
}

// SchoolNetworks lists the school's registered networks (canonical CIDR
// text, in address order) to an organizer in scope or an admin.
func (s *Service) SchoolNetworks(ctx context.Context, a kepu.Actor, schoolID int64) ([]string, error) {
	if _, err := s.schoolForManager(ctx, a, schoolID); err != nil {
		return nil, err
	}
	return s.schoolNetworks(ctx, s.DB, schoolID)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Service) schoolNetworks(ctx context.Context, db querier, schoolID int64) ([]string, error) {
	rows, _ := db.Query(ctx, `SELECT network FROM school_networks WHERE school_id = $1 ORDER BY network`, schoolID)
	nets, err := pgx.CollectRows(rows, pgx.RowTo[netip.Prefix])
	if err != nil {
		return nil, fmt.Errorf("org: school networks: %w", err)
	}
	out := make([]string, len(nets))
	for i, n := range nets {
		out[i] = n.String()
	}
	return out, nil
}

// SetSchoolNetworks replaces the school's registered networks with nets
// (each an IP or CIDR, see ParseNetwork; duplicates merged; at most
// MaxSchoolNetworks) and records the change in the audit log. It returns
// the new list.
func (s *Service) SetSchoolNetworks(ctx context.Context, a kepu.Actor, schoolID int64, nets []string) ([]string, error) {
	sc, err := s.schoolForManager(ctx, a, schoolID)
	if err != nil {
		return nil, err
	}
	var ps []netip.Prefix
	for _, n := range nets {
		if strings.TrimSpace(n) == "" {
			continue
		}
		if len(ps) >= MaxSchoolNetworks*4 {
			break // the count check below refuses the list anyway
		}
		p, err := ParseNetwork(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	if len(ps) > MaxSchoolNetworks {
		return nil, kepu.Invalid("networks", "error.networks_too_many").With("max", MaxSchoolNetworks)
	}
	var out []string
	err = postgres.Tx(ctx, s.DB, func(tx pgx.Tx) error {
		before, err := s.schoolNetworks(ctx, tx, sc.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM school_networks WHERE school_id = $1`, sc.ID); err != nil {
			return fmt.Errorf("org: set school networks: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO school_networks (school_id, network, created_by)
			SELECT $1, n, nullif($3, 0) FROM unnest($2::cidr[]) AS n`, sc.ID, ps, a.UserID); err != nil {
			return fmt.Errorf("org: set school networks: %w", err)
		}
		if out, err = s.schoolNetworks(ctx, tx, sc.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, a.UserID, "school.networks", SchoolTarget(sc.ID),
			map[string]any{"from": before, "to": out}, a.IP)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RegisteredNetwork reports whether ip lies in any school's registered
// network. An unparsable ip is simply not registered.
func (s *Service) RegisteredNetwork(ctx context.Context, ip string) (bool, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false, nil
	}
	var ok bool
	if err := s.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM school_networks WHERE network >>= $1::inet)`,
		a.Unmap()).Scan(&ok); err != nil {
		return false, fmt.Errorf("org: registered network: %w", err)
	}
	return ok, nil
}

// NetworksOf returns the registered networks of each of the schools that
// has any. It checks no scope: the caller passes only schools the actor may
// manage.
func (s *Service) NetworksOf(ctx context.Context, schoolIDs []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(schoolIDs) == 0 {
		return out, nil
	}
	rows, _ := s.DB.Query(ctx, `SELECT school_id, network FROM school_networks WHERE school_id = ANY($1) ORDER BY school_id, network`, schoolIDs)
	var id int64
	var n netip.Prefix
	_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		out[id] = append(out[id], n.String())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("org: networks of schools: %w", err)
	}
	return out, nil
}
