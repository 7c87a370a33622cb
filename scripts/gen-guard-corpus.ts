/**
 * Regenerates test/guard/corpus/dangerous.txt and benign.txt, and the issue #13 category corpora
 * (categories-dangerous.txt, categories-benign.txt); the generators live next to the corpora.
 * Run: node --import tsx scripts/gen-guard-corpus.ts — then commit the generated files.
 */
import '../test/guard/corpus/generate.js';
import '../test/guard/corpus/generate-categories.js';
