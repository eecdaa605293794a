DROP TABLE search_file_texts;
