// Package migrations embeds the numbered SQL migrations that internal/postgres
// applies with goose. Numbering: 000xx foundation, 001xx question bank,
// 002xx campaigns, 003xx contests, 004xx dashboards.
package migrations

import "embed"

// FS holds every *.sql migration.
//
//go:embed *.sql
var FS embed.FS
