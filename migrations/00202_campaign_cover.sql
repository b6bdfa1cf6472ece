-- +goose Up
-- A campaign's cover image (campaign.Campaign.CoverImageID): one of the
-- uploaded images of the question bank (00100_bank.sql, served publicly at
-- /api/v1/bank/images/{id}), shown on the campaign list and the campaign
-- page. NULL: no cover. Deleting an image only drops the cover, never the
-- campaign.
ALTER TABLE campaigns ADD COLUMN cover_image_id bigint
    CONSTRAINT campaigns_cover_image REFERENCES images(id) ON DELETE SET NULL;
-- Keeps image deletes from scanning every campaign.
CREATE INDEX campaigns_cover_image_id ON campaigns (cover_image_id) WHERE cover_image_id IS NOT NULL;

-- +goose Down
DROP INDEX campaigns_cover_image_id;
ALTER TABLE campaigns DROP COLUMN cover_image_id;
