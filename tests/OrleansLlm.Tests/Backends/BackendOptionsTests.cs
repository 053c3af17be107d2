using OrleansLlm.Options;

namespace OrleansLlm.Tests.Backends;

[Trait("Category", "Unit")]
public sealed class BackendOptionsTests
{
    private static readonly BackendOptionsValidator Validator = new();

    [Fact]
    public void Default_IsOllama_AndNeedsNothingHere() =>
        Assert.True(Validator.Validate(null, new BackendOptions()).Succeeded);

    [Fact]
    public void OpenAi_WithoutUrlOrModel_NamesEachKeyOnItsOwnLine()
    {
        var result = Validator.Validate(null, new BackendOptions { Kind = BackendKind.OpenAi, MetricsInterval = TimeSpan.Zero });

        Assert.Equal(
            [
                "Backend:Url is required for Kind OpenAi: an absolute http(s) URL, e.g. 'http://localhost:8001' (was '').",
                "Backend:Model is required for Kind OpenAi: the model's id in the server's /v1/models, e.g. 'Qwen/Qwen2-1.5B-Instruct'.",
                "Backend:MetricsInterval must be at least 1 ms, e.g. '00:00:00.250' (was 00:00:00).",
            ],
            result.Failures);
    }

    [Fact]
    public void OpenAi_WithUrlAndModel_IsValid() =>
        Assert.True(Validator.Validate(null, new BackendOptions { Kind = BackendKind.OpenAi, Url = "http://localhost:8001", Model = "Qwen/Qwen2-1.5B-Instruct" }).Succeeded);
}
