-- +goose Up
-- The public addresses of a school (org.Service.SetSchoolNetworks): an
-- organizer registers the IPs or CIDR blocks a school's NAT shows the
-- internet, and logins from them get the school-sized per-address failure
-- budget (internal/server/login_guard.go). At most 16 per school (checked
-- by the service); IPv4 blocks no larger than /20, IPv6 no larger than /48.
CREATE TABLE school_networks (
    school_id  bigint NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    network    cidr NOT NULL,
    created_by bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, network)
);
-- "Is this address inside any registered network?" (network >>= address).
CREATE INDEX school_networks_network ON school_networks USING gist (network inet_ops);

-- +goose Down
DROP TABLE school_networks;
