-- Example overrides, as a mail operator would write them (make demo loads
-- these).  Overrides are meant to be temporary and documented: each says
-- why (comment) and, where it is a workaround, until when (expires_at; the
-- daemon stops serving it then, by itself).  docs/dba.md has more.

INSERT INTO tls_policy (target, policy, parameters, comment, expires_at) VALUES
    -- The recipient publishes broken TLSA records: DANE would defer all
    -- mail, so fall back to opportunistic TLS until they fix it.
    ('broken-dane.example', 'may', '',
     'TLSA record does not match the certificate; reported to the '
     'recipient, ticket OPS-1234', now() + interval '7 days'),
    -- An internal test system without a valid certificate: encrypt, but
    -- do not verify.
    ('test-mx.internal.example', 'encrypt', 'protocols=>=TLSv1.2',
     'staging relay, self-signed certificate until the CA issues one',
     now() + interval '7 days'),
    -- A partner with correct DNSSEC + TLSA: insist on DANE.
    ('partner.example', 'dane-only', '',
     'contract: DANE-verified TLS only', NULL),
    -- A partner whose certificate is pinned (sha256 of the certificate).
    ('pinned.example', 'fingerprint',
     'match=3D:5E:8A:1C:0B:7F:22:91:AB:CD:EF:01:23:45:67:89:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:AA:BB:CC',
     'pinned at the partner''s request until their certificate rotation',
     now() + interval '30 days'),
    -- Every host below a subsidiary's domain must verify against the
    -- public PKI.
    ('.subsidiary.example', 'secure', 'match=nexthop:dot-nexthop',
     'subsidiary: verified TLS only', NULL)
ON CONFLICT DO NOTHING;
