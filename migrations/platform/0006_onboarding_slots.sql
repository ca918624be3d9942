-- Onboarding slots: "Register tenant" counts the tenants provisioning now, whatever the registry's size.
CREATE INDEX tenants_provisioning_idx ON tenants (updated_at) WHERE status = 'PROVISIONING';
