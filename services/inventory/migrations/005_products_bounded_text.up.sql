-- A product's text is bounded, so that every answer holding products fits in one
-- message (1 MiB on every server and client): BatchGetProducts and ListProducts answer
-- up to 100 products, and order lines copy product names. Bounds are in bytes, as
-- messages count them: a name of at most 200 (a marketplace title) and a category of
-- 64, neither with control characters; a description of at most 2,000 (a marketplace
-- description), with tabs and line breaks but no other control characters, which
-- Connect JSON writes as six bytes each. The largest page of 100 is then under half
-- a MiB in JSON. The seed is the only writer; its products are far within these.
--
-- Adding a CHECK takes the table's strongest lock and scans it (a catalog is small): a
-- lock held by someone else (a dump, a report) would queue every catalog read and
-- reservation behind this statement. It gives up after 1 s instead; the migration is
-- tried again (packages/pg migrate), and reads wait at most that long meanwhile.
SET LOCAL lock_timeout = '1s';
ALTER TABLE products
  ADD CONSTRAINT products_name_bounded CHECK (octet_length(name) <= 200 AND name !~ '[[:cntrl:]]'),
  ADD CONSTRAINT products_category_bounded CHECK (octet_length(category) <= 64 AND category !~ '[[:cntrl:]]'),
  ADD CONSTRAINT products_description_bounded
    CHECK (octet_length(description) <= 2000 AND description !~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]');
