//! Small tokenizers trained with the HF `tokenizers` crate, for the models no fetched
//! file covers: byte-level BPE (GPT-2 style), BPE with a continuing-subword prefix and
//! an end-of-word suffix, and WordLevel.

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainerBuilder};
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::normalizers::{
    Lowercase, NormalizerWrapper, Sequence, unicode::NFC, unicode::NFKC,
};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, TokenizerBuilder, TokenizerImpl};

type Impl = TokenizerImpl<
    ModelWrapper,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

fn finish(mut tok: Impl, mut trainer: TrainerWrapper, texts: &[String]) -> String {
    tok.train(&mut trainer, texts.iter())
        .unwrap_or_else(|e| panic!("training: {e}"));
    tok.to_string(false)
        .unwrap_or_else(|e| panic!("serializing: {e}"))
}

/// GPT-2 style: NFC, ByteLevel pre-tokenizer (with `add_prefix_space`), byte-level BPE.
pub fn byte_level_bpe(texts: &[String], vocab_size: usize) -> String {
    let trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![AddedToken::from("<|endoftext|>", true)])
        .build()
        .into();
    let tok: Impl = TokenizerBuilder::new()
        .with_model(BPE::default().into())
        .with_normalizer(Some(NFC.into()))
        .with_pre_tokenizer(Some(ByteLevel::default().into()))
        .with_post_processor(Some(ByteLevel::default().into()))
        .with_decoder(Some(ByteLevel::default().into()))
        .build()
        .unwrap_or_else(|e| panic!("builder: {e}"));
    finish(tok, trainer, texts)
}

/// BPE with `##` continuing prefix, `</w>` suffix and an unknown token, after NFKC and
/// lowercasing, split by `Whitespace`.
pub fn prefixed_bpe(texts: &[String], vocab_size: usize) -> String {
    let trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .continuing_subword_prefix("##".into())
        .end_of_word_suffix("</w>".into())
        .special_tokens(vec![
            AddedToken::from("[UNK]", true),
            AddedToken::from("[MASK]", true),
        ])
        .build()
        .into();
    let model = BPE::builder()
        .unk_token("[UNK]".into())
        .continuing_subword_prefix("##".into())
        .end_of_word_suffix("</w>".into())
        .build()
        .unwrap_or_else(|e| panic!("bpe: {e}"));
    let norm = Sequence::new(vec![NFKC.into(), Lowercase.into()]);
    let tok: Impl = TokenizerBuilder::new()
        .with_model(model.into())
        .with_normalizer(Some(norm.into()))
        .with_pre_tokenizer(Some(Whitespace.into()))
        .build()
        .unwrap_or_else(|e| panic!("builder: {e}"));
    finish(tok, trainer, texts)
}

/// WordLevel over `Whitespace` words, with `<unk>`.
pub fn word_level(texts: &[String], vocab_size: usize) -> String {
    let trainer: TrainerWrapper = WordLevelTrainerBuilder::default()
        .vocab_size(vocab_size)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from("<unk>", true)])
        .build()
        .unwrap_or_else(|e| panic!("trainer: {e}"))
        .into();
    let model = WordLevel::builder()
        .unk_token("<unk>".into())
        .build()
        .unwrap_or_else(|e| panic!("wordlevel: {e}"));
    let tok: Impl = TokenizerBuilder::new()
        .with_model(model.into())
        .with_normalizer(Some(Lowercase.into()))
        .with_pre_tokenizer(Some(Whitespace.into()))
        .build()
        .unwrap_or_else(|e| panic!("builder: {e}"));
    finish(tok, trainer, texts)
}
