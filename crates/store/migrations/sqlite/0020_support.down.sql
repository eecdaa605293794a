DROP TABLE support_grants;
