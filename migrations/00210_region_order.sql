-- +goose Up
-- region_order(path) is the sort key that puts regions in the city's
-- official order (武陵区, 鼎城区, …): for the region at path and each of its
-- ancestors, outermost first, its sort and id. Ordering by it lists the
-- tree depth first with siblings by sort (ties by id), so a district's
-- townships follow it. Every list of regions orders by it, never by path
-- or id (ids as text put 10 before 2).
-- +goose StatementBegin
CREATE FUNCTION region_order(p text) RETURNS bigint[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(k ORDER BY length(r.path), o), '{}')
    FROM regions r, unnest(ARRAY[r.sort::bigint, r.id]) WITH ORDINALITY AS u(k, o)
    WHERE r.path <> '' AND left(p, length(r.path)) = r.path
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION region_order(text);
