package tally.test;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.AbstractTokenizerFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * Test-only stand-in for the three analysis components the .security index mapping names
 * (uax_url_email, pattern_capture, unique), which the integ-test build lacks with analysis-common.
 * Without them no native user, role or API key can be stored.
 */
public class TestAnalysisPlugin extends Plugin implements AnalysisPlugin {
  @Override
  public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
    return Map.of("uax_url_email", (indexSettings, environment, name, settings) -> new AbstractTokenizerFactory(indexSettings, settings, name) {
      @Override
      public Tokenizer create() {
        return new UAX29URLEmailTokenizer();
      }
    });
  }

  @Override
  public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
    AnalysisProvider<TokenFilterFactory> capture = (indexSettings, environment, name, settings) -> {
      List<String> sources = settings.getAsList("patterns");
      Pattern[] patterns = sources.stream().map(Pattern::compile).toArray(Pattern[]::new);
      boolean preserve = settings.getAsBoolean("preserve_original", true);
      return new AbstractTokenFilterFactory(name, settings) {
        @Override
        public TokenStream create(TokenStream input) {
          return new PatternCaptureGroupTokenFilter(input, preserve, patterns);
        }
      };
    };
    AnalysisProvider<TokenFilterFactory> unique = (indexSettings, environment, name, settings) -> new AbstractTokenFilterFactory(name, settings) {
      @Override
      public TokenStream create(TokenStream input) {
        return new RemoveDuplicatesTokenFilter(input);
      }
    };
    return Map.of("pattern_capture", capture, "unique", unique);
  }
}
