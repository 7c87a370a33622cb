/**
 * Regenerates test/guard/corpus/dangerous.txt and benign.txt (the generator lives next to the corpora).
 * Run: node --import tsx scripts/gen-guard-corpus.ts — then commit the generated files.
 */
import '../test/guard/corpus/generate.js';
