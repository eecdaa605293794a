-- Uploaded images get a small preview, sealed like the original and stripped of metadata
-- (issue 22). The preview's size lets a page reserve its space; NULL means no preview was made
-- yet (an import, a restore, a file from before), 0 × 0 that the image cannot be previewed.
ALTER TABLE attachments ADD COLUMN preview_width INTEGER;
ALTER TABLE attachments ADD COLUMN preview_height INTEGER;
