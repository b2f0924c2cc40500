-- Image records moved to the image service (its own database); the scheduler reads them there.
DROP TABLE image;
