using StackExchange.Redis;

namespace OrleansLlm.Queue.Scripts;

/// <summary>How the settle scripts take an answer's usage: prompt tokens, completion tokens, backend milliseconds.</summary>
internal static class UsageArguments
{
    public static RedisValue[] Of(TokenUsage usage) =>
        [usage.PromptTokens, usage.CompletionTokens, (long)usage.OllamaTime.TotalMilliseconds];
}
