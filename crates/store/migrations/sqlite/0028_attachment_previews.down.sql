ALTER TABLE attachments DROP COLUMN preview_height;
ALTER TABLE attachments DROP COLUMN preview_width;
