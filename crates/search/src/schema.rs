//! The index's fields and the analyser that turns text into searchable words.

use tantivy::schema::{
    FAST, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};

use crate::Language;

/// The analyser of the stemmed text fields: words in any of their forms.
pub(crate) const STEMMED: &str = "iw_stemmed";
/// The analyser of the plain field: whole words as written (lower-cased, accents folded), for
/// prefixes and near misses, which stems would cut short.
pub(crate) const PLAIN: &str = "iw_plain";
/// Longer tokens are dropped (nobody searches for them; a hostile text of one huge word
/// cannot bloat the term dictionary).
const LONGEST_WORD: usize = 48;

/// The fields, looked up once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields {
    /// `kind:uuid`: the document's identity, for replacing and deleting it.
    pub key: tantivy::schema::Field,
    pub kind: tantivy::schema::Field,
    pub id: tantivy::schema::Field,
    pub space: tantivy::schema::Field,
    pub discussion: tantivy::schema::Field,
    pub idea: tantivy::schema::Field,
    pub stage: tantivy::schema::Field,
    pub author: tantivy::schema::Field,
    /// Tags as given, lower-cased, for the tag filter.
    pub tag: tantivy::schema::Field,
    /// `yes` or `no`.
    pub deleted: tantivy::schema::Field,
    pub created_at: tantivy::schema::Field,
    pub votes: tantivy::schema::Field,
    /// Orders documents with equal sort values the same way every time (keyset paging).
    pub tiebreak: tantivy::schema::Field,
    /// The kind's position in [`Kind::ALL`](crate::Kind::ALL), for counting results by kind.
    pub kind_ord: tantivy::schema::Field,
    pub title: tantivy::schema::Field,
    pub body: tantivy::schema::Field,
    /// Tags as words.
    pub tags_text: tantivy::schema::Field,
    /// Title, tags and body unstemmed.
    pub plain: tantivy::schema::Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |analyser: &str, stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyser)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        kind: b.add_text_field("kind", STRING | STORED),
        id: b.add_text_field("id", STRING | STORED),
        space: b.add_text_field("space", STRING | STORED),
        discussion: b.add_text_field("discussion", STRING | STORED),
        idea: b.add_text_field("idea", STRING | STORED),
        stage: b.add_text_field("stage", STRING | STORED),
        author: b.add_text_field("author", STRING | STORED),
        tag: b.add_text_field("tag", STRING | STORED),
        deleted: b.add_text_field("deleted", STRING | STORED),
        created_at: b.add_i64_field("created_at", INDEXED | STORED | FAST),
        votes: b.add_i64_field("votes", STORED | FAST),
        tiebreak: b.add_u64_field("tiebreak", FAST),
        kind_ord: b.add_u64_field("kind_ord", FAST),
        title: b.add_text_field("title", text(STEMMED, true)),
        body: b.add_text_field("body", text(STEMMED, true)),
        tags_text: b.add_text_field("tags_text", text(STEMMED, false)),
        plain: b.add_text_field("plain", text(PLAIN, false)),
    };
    (b.build(), fields)
}

/// Registers the analysers of `language` with an index.
pub(crate) fn register_analysers(index: &tantivy::Index, language: Language) {
    let stem = match language {
        Language::English => tantivy::tokenizer::Language::English,
        Language::German => tantivy::tokenizer::Language::German,
    };
    // Stemming before folding: the German stemmer knows umlauts ("Häuser" → "haus").
    let stemmed = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(Stemmer::new(stem))
        .filter(AsciiFoldingFilter)
        .build();
    let plain = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    index.tokenizers().register(STEMMED, stemmed);
    index.tokenizers().register(PLAIN, plain);
}
