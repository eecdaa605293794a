-- Back to 0005: notification preferences and pending digest items are dropped (the previous
-- release sends no notifications).
DROP TABLE pending_notifications;
DROP TABLE notification_preferences;
