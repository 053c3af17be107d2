namespace OllamaSim;

/// <summary>The text a request gets, how many tokens generating it took, and why generation stopped.</summary>
internal sealed record LimitedAnswer(string Text, int OutputTokens, string DoneReason);
