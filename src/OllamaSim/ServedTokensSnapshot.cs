namespace OllamaSim;

/// <summary>One consistent reading of <see cref="ServedTokens"/>.</summary>
internal sealed record ServedTokensSnapshot(
    long PromptTokens, long GenerationTokens, double PromptSeconds, double GenerationSeconds, long Stopped, long CutByLength);
