DROP TABLE sign_in_regulars;
