-- An upload under way reserves what it may store against its owner's quota (Glance counts images
-- being uploaded against image_size_total and image_count_uploading), so that uploads running at
-- the same time cannot together exceed it. Set while the image is saving, NULL otherwise.
ALTER TABLE image ADD COLUMN reserved_bytes BIGINT;
