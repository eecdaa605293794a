//! One workspace's index, held in memory.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::directory::{Directory, RamDirectory, TerminatingWrite};
use tantivy::index::{SegmentComponent, SegmentId};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher,
    SegmentOrdinal, SegmentReader, TantivyDocument, Term,
};
use uuid::Uuid;

use crate::query::{Clause, ParsedQuery};
use crate::schema::{Fields, PLAIN, STEMMED, register_analysers, schema};
use crate::{Document, Kind, Language, SearchError, SearchResult};

/// What one index writer may buffer before it writes a segment (tantivy's minimum is 15 MB).
const WRITER_BUDGET_BYTES: usize = 20_000_000;
/// More segments than this are merged, the smallest [`MERGE_AT_ONCE`] into one, so that
/// searches read few segments and each document is rewritten a logarithmic number of times.
const MAX_SEGMENTS: usize = 8;
const MERGE_AT_ONCE: usize = 8;
/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 180;
/// The longest highlighted title, in characters.
const TITLE_CHARS: usize = 200;
/// Near misses allowed for words of at least this many letters (one edit; two from
/// [`TWO_EDITS_FROM`]).
const ONE_EDIT_FROM: usize = 5;
const TWO_EDITS_FROM: usize = 9;
/// Near misses are looked for only when fewer documents than this hold the word as typed: a
/// word that many documents hold is spelled as the writers spell it, and matching its near
/// misses too would cost a walk of the whole dictionary for results ranked below it anyway.
const FUZZY_BELOW_DOCS: u64 = 10;
/// A prefix that starts more words than this is matched through an automaton (every match,
/// unranked); fewer are matched as the words themselves, ranked like any word.
const MAX_PREFIX_WORDS: usize = 64;
/// Up to this many readable spaces are each matched on their own (skipping through their
/// documents along the text's matches); more through one set that marks every document of
/// those spaces.
const MAX_SPACE_TERMS: usize = 32;

/// One file of an index, to be sealed and stored, or read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexFile {
    /// The file's name inside the index (letters, digits and dots).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The spaces whose content a searcher may see, and whether they may see the member list.
/// Everything else is invisible to them, whatever the query says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Spaces whose content may be found.
    pub spaces: Vec<Uuid>,
    /// Whether members may be found by name.
    pub members: bool,
}

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best match first (BM25).
    #[default]
    Relevance,
    /// Newest first.
    Newest,
    /// Most up-voted first.
    Top,
}

/// Where a page of results ends: the next page starts after it. Opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cursor {
    primary: f64,
    tiebreak: u64,
}

impl Cursor {
    fn key(self) -> (f64, u64) {
        (self.primary, self.tiebreak)
    }

    /// Reads a cursor written by [`Cursor::to_string`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<Cursor> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let primary = f64::from_bits(u64::from_str_radix(s.get(..16)?, 16).ok()?);
        let tiebreak = u64::from_str_radix(s.get(16..)?, 16).ok()?;
        primary.is_finite().then_some(Cursor { primary, tiebreak })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}{:016x}", self.primary.to_bits(), self.tiebreak)
    }
}

/// A search.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub query: &'a ParsedQuery,
    /// What the searcher may see.
    pub scope: &'a Scope,
    /// Only these kinds (all when empty).
    pub kinds: &'a [Kind],
    pub space: Option<Uuid>,
    pub discussion: Option<Uuid>,
    pub stage: Option<Uuid>,
    pub author: Option<Uuid>,
    /// A tag, as written (compared without case).
    pub tag: Option<&'a str>,
    /// Made at or after (Unix milliseconds, as the documents' times are).
    pub from: Option<i64>,
    /// Made before.
    pub until: Option<i64>,
    /// Deleted content only (for moderators; `scope` then lists the spaces they moderate)
    /// instead of live content only.
    pub deleted: bool,
    pub sort: Sort,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
    /// The most results to return.
    pub limit: usize,
}

/// A text with the ranges (in bytes) that matched the query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Highlighted {
    pub text: String,
    pub marks: Vec<Range<usize>>,
}

/// One result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub kind: Kind,
    pub id: Uuid,
    pub space: Option<Uuid>,
    pub discussion: Option<Uuid>,
    pub idea: Option<Uuid>,
    pub stage: Option<Uuid>,
    pub author: Option<Uuid>,
    pub tags: Vec<String>,
    pub created_at: i64,
    pub votes: i64,
    pub deleted: bool,
    pub title: Highlighted,
    /// The best passage of the text.
    pub snippet: Highlighted,
    /// Where this result sits in the order, for the next page.
    pub cursor: Cursor,
}

/// A page of results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    pub hits: Vec<Hit>,
    /// How many results the query has in all, of the kinds asked for.
    pub total: u64,
    /// How many of each kind the query has (whatever kinds were asked for), for facets.
    pub by_kind: Vec<(Kind, u64)>,
    /// The cursor of the next page, if there may be one.
    pub next: Option<Cursor>,
}

/// One change to the index.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Add the document, replacing any of the same kind and id.
    Put(Document),
    /// Remove the document of this kind and id, if there is one.
    Remove { kind: Kind, id: Uuid },
}

/// What a commit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// Documents added or replaced.
    pub put: u64,
    /// Documents removed.
    pub removed: u64,
    /// Whether segments were rewritten so that removed documents left no trace.
    pub expunged: bool,
}

/// One workspace's index, in memory. Searches run concurrently; changes go through one
/// [`IndexWriter`] at a time.
pub struct WorkspaceIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: RamDirectory,
    language: Language,
    writing: Mutex<()>,
}

impl std::fmt::Debug for WorkspaceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceIndex")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

fn key_text(kind: Kind, id: Uuid) -> String {
    format!("{kind}:{id}")
}

fn tiebreak(kind: Kind, id: Uuid) -> u64 {
    let (_, low) = id.as_u64_pair();
    low ^ (kind as u64)
}

fn kind_ord(kind: Kind) -> u64 {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u64
}

impl WorkspaceIndex {
    /// A new, empty index.
    pub fn create(language: Language) -> SearchResult<Self> {
        let dir = RamDirectory::create();
        let (schema, _) = schema();
        let index = Index::create(dir.clone(), schema, tantivy::IndexSettings::default())?;
        Self::wrap(index, dir, language)
    }

    /// Opens an index from its files (as [`WorkspaceIndex::files`] gave them). Fails with
    /// [`SearchError::Incompatible`] when they were written with other fields: the caller
    /// rebuilds the index from the database.
    pub fn open(language: Language, files: Vec<IndexFile>) -> SearchResult<Self> {
        let dir = RamDirectory::create();
        for file in files {
            if !valid_file_name(&file.name) {
                return Err(SearchError::Corrupt(format!(
                    "an index file has an invalid name: {:?}",
                    file.name
                )));
            }
            let path = Path::new(&file.name);
            if file.name == "meta.json" {
                dir.atomic_write(path, &file.bytes)?;
            } else {
                let mut w = dir.open_write(path)?;
                std::io::Write::write_all(&mut w, &file.bytes)?;
                w.terminate()?;
            }
        }
        let index = Index::open(dir.clone())?;
        let (expected, _) = schema();
        let names = |s: &tantivy::schema::Schema| {
            s.fields()
                .map(|(_, e)| (e.name().to_owned(), format!("{:?}", e.field_type())))
                .collect::<Vec<_>>()
        };
        if names(&index.schema()) != names(&expected) {
            return Err(SearchError::Incompatible);
        }
        Self::wrap(index, dir, language)
    }

    fn wrap(index: Index, dir: RamDirectory, language: Language) -> SearchResult<Self> {
        register_analysers(&index, language);
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            dir,
            language,
            writing: Mutex::new(()),
        })
    }

    /// The language the index stems words in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The committed index's files: what must be stored for [`WorkspaceIndex::open`] to bring
    /// it back.
    pub fn files(&self) -> SearchResult<Vec<IndexFile>> {
        let components = [
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::FastFields,
            SegmentComponent::FieldNorms,
            SegmentComponent::Terms,
            SegmentComponent::Store,
            SegmentComponent::Delete,
        ];
        let mut paths: Vec<PathBuf> = vec![PathBuf::from("meta.json")];
        for meta in self.index.searchable_segment_metas()? {
            for c in &components {
                if *c == SegmentComponent::Delete && meta.num_deleted_docs() == 0 {
                    continue;
                }
                paths.push(meta.relative_path(c.clone()));
            }
        }
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            if !self.dir.exists(&path)? {
                continue;
            }
            let bytes = self.dir.open_read(&path)?.read_bytes()?.as_slice().to_vec();
            files.push(IndexFile {
                name: path.to_string_lossy().into_owned(),
                bytes,
            });
        }
        Ok(files)
    }

    /// Bytes the index holds in memory.
    pub fn memory_bytes(&self) -> usize {
        self.dir.total_mem_usage()
    }

    /// Documents in the committed index.
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies `changes` and commits them. With `clear`, every document goes first (a
    /// rebuild). Removals are expunged: the segments that held removed documents are rewritten
    /// without them, so that nothing of an erased person stays even in memory.
    pub fn apply(
        &self,
        clear: bool,
        changes: impl IntoIterator<Item = Change>,
    ) -> SearchResult<Committed> {
        let _one_writer = self.writing.lock().map_err(|_| SearchError::Poisoned)?;
        let stale_before: std::collections::HashMap<SegmentId, u32> = self
            .index
            .searchable_segment_metas()?
            .into_iter()
            .map(|m| (m.id(), m.num_deleted_docs()))
            .collect();
        let mut writer: IndexWriter<TantivyDocument> =
            self.index.writer_with_num_threads(1, WRITER_BUDGET_BYTES)?;
        // Merges happen here, when asked for, never in the background: a background merge
        // could take the segments an expunge is about to rewrite.
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        if clear {
            writer.delete_all_documents()?;
        }
        let mut done = Committed::default();
        for change in changes {
            match change {
                Change::Put(doc) => {
                    writer.delete_term(Term::from_field_text(
                        self.fields.key,
                        &key_text(doc.kind, doc.id),
                    ));
                    writer.add_document(self.tantivy_doc(&doc))?;
                    done.put += 1;
                }
                Change::Remove { kind, id } => {
                    writer.delete_term(Term::from_field_text(self.fields.key, &key_text(kind, id)));
                    done.removed += 1;
                }
            }
        }
        writer.commit()?;
        {
            // Removed and replaced documents stay in their segment, marked deleted, until it is
            // rewritten. A batch that removes rewrites the segments it marked, so that what was
            // removed (an erased person) leaves no trace; other segments are rewritten once a
            // tenth of them is stale.
            let with_deletes: Vec<SegmentId> = self
                .index
                .searchable_segment_metas()?
                .into_iter()
                .filter(|m| {
                    let stale = m.num_deleted_docs();
                    let grew = stale > stale_before.get(&m.id()).copied().unwrap_or(0);
                    stale > 0
                        && ((grew && (done.removed > 0 || clear)) || stale * 10 >= m.max_doc())
                })
                .map(|m| m.id())
                .collect();
            if !with_deletes.is_empty() {
                writer.merge(&with_deletes).wait()?;
                done.expunged = true;
            }
        }
        let mut metas = self.index.searchable_segment_metas()?;
        if metas.len() > MAX_SEGMENTS {
            metas.sort_by_key(|m| m.num_docs());
            let smallest: Vec<SegmentId> =
                metas.iter().take(MERGE_AT_ONCE).map(|m| m.id()).collect();
            writer.merge(&smallest).wait()?;
        }
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(done)
    }

    fn tantivy_doc(&self, d: &Document) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, key_text(d.kind, d.id));
        doc.add_text(f.kind, d.kind.as_str());
        doc.add_u64(f.kind_ord, kind_ord(d.kind));
        doc.add_text(f.id, d.id.to_string());
        for (field, value) in [
            (f.space, d.space),
            (f.discussion, d.discussion),
            (f.idea, d.idea),
            (f.stage, d.stage),
            (f.author, d.author),
        ] {
            if let Some(v) = value {
                doc.add_text(field, v.to_string());
            }
        }
        for tag in &d.tags {
            doc.add_text(f.tag, tag.to_lowercase());
            doc.add_text(f.tags_text, tag);
        }
        doc.add_text(f.deleted, if d.deleted { "yes" } else { "no" });
        doc.add_i64(f.created_at, d.created_at);
        doc.add_i64(f.votes, d.votes);
        doc.add_u64(f.tiebreak, tiebreak(d.kind, d.id));
        doc.add_text(f.title, &d.title);
        doc.add_text(f.body, &d.body);
        doc.add_text(f.plain, &d.title);
        for tag in &d.tags {
            doc.add_text(f.plain, tag);
        }
        doc.add_text(f.plain, &d.body);
        doc
    }

    fn analyser(&self, name: &str) -> SearchResult<TextAnalyzer> {
        self.index
            .tokenizers()
            .get(name)
            .ok_or_else(|| SearchError::Corrupt(format!("the analyser {name} is not registered")))
    }

    /// The words of `text` as the analyser `name` indexes them.
    fn words(&self, name: &str, text: &str) -> SearchResult<Vec<String>> {
        let mut analyser = self.analyser(name)?;
        let mut stream = analyser.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        Ok(out)
    }

    /// The query for one clause, or `None` when it has no searchable word (punctuation).
    /// `automaton` is set when the query holds one (near misses, a prefix of many words):
    /// such a query marks every match in a set when it runs, so it should run once.
    fn clause_query(
        &self,
        searcher: &Searcher,
        clause: &Clause,
        automaton: &mut bool,
    ) -> SearchResult<Option<Box<dyn Query>>> {
        let f = &self.fields;
        let term_in = |field, word: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, word),
                IndexRecordOption::WithFreqs,
            ))
        };
        let phrase_in = |field, words: &[String]| -> Box<dyn Query> {
            Box::new(PhraseQuery::new(
                words
                    .iter()
                    .map(|w| Term::from_field_text(field, w))
                    .collect(),
            ))
        };
        Ok(match clause {
            Clause::Word(w) => {
                let stems = self.words(STEMMED, w)?;
                match stems.as_slice() {
                    [] => None,
                    [stem] => {
                        let mut any: Vec<(Occur, Box<dyn Query>)> = vec![
                            (
                                Occur::Should,
                                Box::new(BoostQuery::new(term_in(f.title, stem), 2.0)),
                            ),
                            (Occur::Should, term_in(f.body, stem)),
                            (
                                Occur::Should,
                                Box::new(BoostQuery::new(term_in(f.tags_text, stem), 1.5)),
                            ),
                        ];
                        if let [plain] = self.words(PLAIN, w)?.as_slice() {
                            let letters = plain.chars().count();
                            let edits = if letters >= TWO_EDITS_FROM {
                                2
                            } else if letters >= ONE_EDIT_FROM {
                                1
                            } else {
                                0
                            };
                            if edits > 0
                                && searcher.doc_freq(&Term::from_field_text(f.plain, plain))?
                                    < FUZZY_BELOW_DOCS
                            {
                                *automaton = true;
                                let fuzzy = FuzzyTermQuery::new(
                                    Term::from_field_text(f.plain, plain),
                                    edits,
                                    true,
                                );
                                any.push((
                                    Occur::Should,
                                    Box::new(BoostQuery::new(Box::new(fuzzy), 0.3)),
                                ));
                            }
                        }
                        Some(Box::new(BooleanQuery::new(any)))
                    }
                    several => Some(Box::new(BooleanQuery::new(vec![
                        (Occur::Should, phrase_in(f.title, several)),
                        (Occur::Should, phrase_in(f.body, several)),
                    ]))),
                }
            }
            Clause::Prefix(p) => {
                let words = self.words(PLAIN, p)?;
                match words.split_last() {
                    None => None,
                    Some((last, before)) => {
                        let mut all: Vec<(Occur, Box<dyn Query>)> = before
                            .iter()
                            .map(|w| (Occur::Must, term_in(f.plain, w)))
                            .collect();
                        all.push((
                            Occur::Must,
                            prefix_query(searcher, f.plain, last, automaton)?,
                        ));
                        Some(Box::new(BooleanQuery::new(all)))
                    }
                }
            }
            Clause::Phrase(words) => {
                let stems = self.words(STEMMED, &words.join(" "))?;
                match stems.as_slice() {
                    [] => None,
                    [one] => Some(Box::new(BooleanQuery::new(vec![
                        (Occur::Should, term_in(f.title, one)),
                        (Occur::Should, term_in(f.body, one)),
                    ]))),
                    several => Some(Box::new(BooleanQuery::new(vec![
                        (Occur::Should, phrase_in(f.title, several)),
                        (Occur::Should, phrase_in(f.body, several)),
                    ]))),
                }
            }
        })
    }

    /// The text part of a query, or `None` when nothing in it can match; and whether it holds
    /// an automaton (see [`Self::clause_query`]).
    fn text_query(
        &self,
        searcher: &Searcher,
        q: &ParsedQuery,
    ) -> SearchResult<Option<(Box<dyn Query>, bool)>> {
        let mut automaton = false;
        let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for group in &q.groups {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for clause in group {
                if let Some(query) = self.clause_query(searcher, clause, &mut automaton)? {
                    any.push((Occur::Should, query));
                }
            }
            if any.is_empty() {
                // Only punctuation in this group: it constrains nothing.
                continue;
            }
            all.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if all.is_empty() {
            return Ok(None);
        }
        for clause in &q.excluded {
            if let Some(query) = self.clause_query(searcher, clause, &mut automaton)? {
                all.push((Occur::MustNot, query));
            }
        }
        Ok(Some((Box::new(BooleanQuery::new(all)), automaton)))
    }

    /// The query that finds `text` where the searcher may see it and where they filtered.
    ///
    /// What may be seen (readable spaces, and the member list for those who may read it) is a
    /// union; seeking through a union is a scan of every document it holds, so the text is
    /// matched in each part on its own and the parts joined: each part then skips through its
    /// space's documents along the text's matches. Filters decide what matches, never how
    /// well (a space's own word frequency must not rank its documents above another's). The
    /// kind is not filtered here but in the collector, so that other kinds can be counted.
    ///
    /// A text with an automaton is not repeated (each copy would build its set again): it is
    /// matched once and the parts joined as a filter, whose cost is then bounded by the
    /// automaton's own.
    fn visible_query(
        &self,
        text: Box<dyn Query>,
        automaton: bool,
        r: &Request<'_>,
    ) -> BooleanQuery {
        let f = &self.fields;
        let exact = |field, value: &str| {
            unranked(Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            )))
        };
        let mut filters: Vec<Box<dyn Query>> =
            vec![exact(f.deleted, if r.deleted { "yes" } else { "no" })];
        for (field, value) in [
            (f.space, r.space),
            (f.discussion, r.discussion),
            (f.stage, r.stage),
            (f.author, r.author),
        ] {
            if let Some(v) = value {
                filters.push(exact(field, &v.to_string()));
            }
        }
        if let Some(tag) = r.tag {
            filters.push(exact(f.tag, &tag.to_lowercase()));
        }
        if r.from.is_some() || r.until.is_some() {
            use std::ops::Bound;
            let lower = r.from.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_i64(f.created_at, t))
            });
            let upper = r.until.map_or(Bound::Unbounded, |t| {
                Bound::Excluded(Term::from_field_i64(f.created_at, t))
            });
            filters.push(unranked(Box::new(RangeQuery::new(lower, upper))));
        }
        let mut parts: Vec<Box<dyn Query>> = if r.scope.spaces.len() <= MAX_SPACE_TERMS {
            r.scope
                .spaces
                .iter()
                .map(|s| exact(f.space, &s.to_string()))
                .collect()
        } else {
            let terms = r
                .scope
                .spaces
                .iter()
                .map(|s| Term::from_field_text(f.space, &s.to_string()));
            vec![unranked(Box::new(TermSetQuery::new(terms)))]
        };
        if r.scope.members && !r.deleted {
            parts.push(exact(f.kind, Kind::Member.as_str()));
        }
        // No part: nothing may be seen, and a query without clauses matches nothing.
        if automaton {
            let visible = BooleanQuery::new(
                parts
                    .into_iter()
                    .map(|part| -> (Occur, Box<dyn Query>) { (Occur::Should, part) })
                    .collect(),
            );
            let mut all: Vec<(Occur, Box<dyn Query>)> =
                vec![(Occur::Must, text), (Occur::Must, Box::new(visible))];
            all.extend(filters.into_iter().map(|q| (Occur::Must, q)));
            return BooleanQuery::new(all);
        }
        BooleanQuery::new(
            parts
                .into_iter()
                .map(|part| -> (Occur, Box<dyn Query>) {
                    let mut all = vec![(Occur::Must, text.box_clone()), (Occur::Must, part)];
                    all.extend(filters.iter().map(|q| (Occur::Must, q.box_clone())));
                    (Occur::Should, Box::new(BooleanQuery::new(all)))
                })
                .collect(),
        )
    }

    /// Runs a search.
    pub fn search(&self, r: &Request<'_>) -> SearchResult<Results> {
        let searcher = self.reader.searcher();
        let Some((text, automaton)) = self.text_query(&searcher, r.query)? else {
            return Ok(Results::default());
        };
        let query = self.visible_query(text, automaton, r);
        let limit = r.limit.max(1);
        let collector = KeyedTop {
            limit: limit + 1,
            sort: r.sort,
            after: r.after,
            allowed: allowed_kinds(r.kinds),
        };
        let (mut top, counts) = searcher.search(&query, &collector)?;
        let more = top.len() > limit;
        top.truncate(limit);
        let by_kind: Vec<(Kind, u64)> = Kind::ALL.iter().copied().zip(counts).collect();
        let total = by_kind
            .iter()
            .filter(|(k, _)| collector.allowed[kind_ord(*k) as usize])
            .map(|(_, n)| n)
            .sum();
        let mut titles = SnippetGenerator::create(&searcher, &query, self.fields.title)?;
        titles.set_max_num_chars(TITLE_CHARS);
        let mut bodies = SnippetGenerator::create(&searcher, &query, self.fields.body)?;
        bodies.set_max_num_chars(SNIPPET_CHARS);
        let mut hits = Vec::with_capacity(top.len());
        for entry in &top {
            let doc: TantivyDocument = searcher.doc(entry.address)?;
            hits.push(self.hit(&doc, &titles, &bodies, entry.cursor())?);
        }
        let next = if more {
            top.last().map(Entry::cursor)
        } else {
            None
        };
        Ok(Results {
            hits,
            total,
            by_kind,
            next,
        })
    }

    fn hit(
        &self,
        doc: &TantivyDocument,
        titles: &SnippetGenerator,
        bodies: &SnippetGenerator,
        cursor: Cursor,
    ) -> SearchResult<Hit> {
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let uuid = |field| text(field).and_then(|s| Uuid::parse_str(&s).ok());
        let kind: Kind = text(f.kind)
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| SearchError::Corrupt("a document has no kind".into()))?;
        let id = uuid(f.id).ok_or_else(|| SearchError::Corrupt("a document has no id".into()))?;
        let title = text(f.title).unwrap_or_default();
        let body = text(f.body).unwrap_or_default();
        let title_snippet = titles.snippet(&title);
        // The title highlighted when it matched and fits; otherwise whole or its start.
        let title = if !title_snippet.is_empty() && title_snippet.fragment() == title {
            let marks = title_snippet.highlighted().to_vec();
            Highlighted { text: title, marks }
        } else {
            Highlighted {
                text: clip(&title, TITLE_CHARS),
                marks: Vec::new(),
            }
        };
        let body_snippet = bodies.snippet(&body);
        let snippet = if body_snippet.is_empty() {
            Highlighted {
                text: clip(&body, SNIPPET_CHARS),
                marks: Vec::new(),
            }
        } else {
            Highlighted {
                text: body_snippet.fragment().to_owned(),
                marks: body_snippet.highlighted().to_vec(),
            }
        };
        Ok(Hit {
            kind,
            id,
            space: uuid(f.space),
            discussion: uuid(f.discussion),
            idea: uuid(f.idea),
            stage: uuid(f.stage),
            author: uuid(f.author),
            tags: doc
                .get_all(f.tag)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            created_at: doc
                .get_first(f.created_at)
                .and_then(|v| v.as_i64())
                .unwrap_or(0),
            votes: doc.get_first(f.votes).and_then(|v| v.as_i64()).unwrap_or(0),
            deleted: text(f.deleted).as_deref() == Some("yes"),
            title,
            snippet,
            cursor,
        })
    }
}

/// `query` as a filter: it decides what matches and adds nothing to the score.
fn unranked(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// The words of `field` that start with `prefix`, as a query: each word itself while there
/// are few (ranked as words are), or an automaton marking every match when there are many.
fn prefix_query(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
    automaton: &mut bool,
) -> SearchResult<Box<dyn Query>> {
    let mut words = std::collections::BTreeSet::new();
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut stream = index.terms().range().ge(prefix.as_bytes()).into_stream()?;
        while stream.advance() {
            if !stream.key().starts_with(prefix.as_bytes()) {
                break;
            }
            let Ok(word) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if !words.contains(word) {
                if words.len() == MAX_PREFIX_WORDS {
                    // Many words: every document holding one of them, all ranked alike.
                    *automaton = true;
                    return Ok(Box::new(FuzzyTermQuery::new_prefix(
                        Term::from_field_text(field, prefix),
                        0,
                        true,
                    )));
                }
                words.insert(word.to_owned());
            }
        }
    }
    // No word at all gives a query without clauses, which matches nothing.
    Ok(Box::new(BooleanQuery::new(
        words
            .iter()
            .map(|w| -> (Occur, Box<dyn Query>) {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, w),
                        IndexRecordOption::WithFreqs,
                    )),
                )
            })
            .collect(),
    )))
}

/// The first `max` characters of `text`, cut at a word boundary where one is near.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let cut = text[..end]
                .rfind(char::is_whitespace)
                .filter(|i| *i > end / 2)
                .unwrap_or(end);
            format!("{}…", text[..cut].trim_end())
        }
    }
}

/// Names tantivy gives its files: letters, digits and dots, no path.
fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

fn allowed_kinds(kinds: &[Kind]) -> [bool; 7] {
    let mut allowed = [kinds.is_empty(); 7];
    for k in kinds {
        allowed[kind_ord(*k) as usize] = true;
    }
    allowed
}

/// A collected result: where it sorts and where it is.
#[derive(Clone, Copy, Debug)]
struct Entry {
    primary: f64,
    tiebreak: u64,
    address: DocAddress,
}

impl Entry {
    fn cursor(&self) -> Cursor {
        Cursor {
            primary: self.primary,
            tiebreak: self.tiebreak,
        }
    }
    fn cmp_key(&self, other: &Self) -> std::cmp::Ordering {
        self.primary
            .total_cmp(&other.primary)
            .then(self.tiebreak.cmp(&other.tiebreak))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_key(other).is_eq()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.cmp_key(other)
    }
}

/// Collects the best `limit` documents after a cursor, in the request's order (highest key
/// first), of the allowed kinds, and counts matches of every kind.
struct KeyedTop {
    limit: usize,
    sort: Sort,
    after: Option<Cursor>,
    allowed: [bool; 7],
}

struct SegmentTop {
    segment: SegmentOrdinal,
    limit: usize,
    after: Option<(f64, u64)>,
    allowed: [bool; 7],
    /// The sort's own value (none for relevance, which is the score); only the column that
    /// the sort needs is opened.
    order: Option<Arc<dyn ColumnValues<i64>>>,
    tiebreak: Arc<dyn ColumnValues<u64>>,
    kind: Arc<dyn ColumnValues<u64>>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<Entry>>,
    counts: [u64; 7],
}

impl Collector for KeyedTop {
    type Fruit = (Vec<Entry>, [u64; 7]);
    type Child = SegmentTop;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentTop> {
        let ff = reader.fast_fields();
        let order = match self.sort {
            Sort::Relevance => None,
            Sort::Newest => Some(ff.i64("created_at")?.first_or_default_col(0)),
            Sort::Top => Some(ff.i64("votes")?.first_or_default_col(0)),
        };
        Ok(SegmentTop {
            segment,
            limit: self.limit,
            after: self.after.map(Cursor::key),
            allowed: self.allowed,
            order,
            tiebreak: ff.u64("tiebreak")?.first_or_default_col(0),
            kind: ff.u64("kind_ord")?.first_or_default_col(0),
            heap: std::collections::BinaryHeap::new(),
            counts: [0; 7],
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(Vec<Entry>, [u64; 7])>,
    ) -> tantivy::Result<(Vec<Entry>, [u64; 7])> {
        let mut counts = [0u64; 7];
        let mut all = Vec::new();
        for (entries, c) in fruits {
            for (total, n) in counts.iter_mut().zip(c) {
                *total += n;
            }
            all.extend(entries);
        }
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(self.limit);
        Ok((all, counts))
    }
}

impl SegmentCollector for SegmentTop {
    type Fruit = (Vec<Entry>, [u64; 7]);

    fn collect(&mut self, doc: DocId, score: Score) {
        let kind = self.kind.get_val(doc) as usize;
        let Some(count) = self.counts.get_mut(kind) else {
            return;
        };
        *count += 1;
        if !self.allowed.get(kind).copied().unwrap_or(false) {
            return;
        }
        let primary = match &self.order {
            None => f64::from(score),
            Some(column) => column.get_val(doc) as f64,
        };
        // Most documents lose on the primary key alone; the tie-break is read only for the
        // others.
        if let Some((p, _)) = self.after
            && primary.total_cmp(&p).is_gt()
        {
            return;
        }
        let full = self.heap.len() >= self.limit;
        if full
            && self
                .heap
                .peek()
                .is_some_and(|std::cmp::Reverse(lowest)| primary.total_cmp(&lowest.primary).is_lt())
        {
            return;
        }
        let tiebreak = self.tiebreak.get_val(doc);
        if let Some((p, t)) = self.after
            && primary.total_cmp(&p).then(tiebreak.cmp(&t)).is_ge()
        {
            return;
        }
        let entry = Entry {
            primary,
            tiebreak,
            address: DocAddress::new(self.segment, doc),
        };
        if !full {
            self.heap.push(std::cmp::Reverse(entry));
        } else if self
            .heap
            .peek()
            .is_some_and(|std::cmp::Reverse(lowest)| entry > *lowest)
        {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(entry));
        }
    }

    fn harvest(self) -> Self::Fruit {
        (
            self.heap
                .into_iter()
                .map(|std::cmp::Reverse(e)| e)
                .collect(),
            self.counts,
        )
    }
}
