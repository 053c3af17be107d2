using System.Text.Json;

namespace OrleansLlm.Tests.Formats;

/// <summary>A result document reads back as it was built, whatever its size: the buffer it is written into grows from 4 KB.</summary>
[Trait("Category", "Unit")]
public sealed class ResultDocumentTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(1_400)]
    [InlineData(5_000)]
    [InlineData(200_000)]
    public void Build_ReadsBackTheItemTheAnswerAndTheMeta_AtAnySize(int answerLength)
    {
        // Escaped and multi-byte characters too: the writer's room for each string is its worst case, not its length.
        var answer = string.Concat(Enumerable.Repeat("São \"Paulo\"\n", (answerLength / 12) + 1))[..answerLength];
        var input = JsonDocument.Parse($$"""{"city":"São Paulo","id":"1076532519","note":{{JsonText.Quote(new string('x', answerLength / 2))}}}""").RootElement;
        var completed = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);
        var meta = new ResultMeta("mayor", "qwen2:1.5b", 2, "silo-1", 1_500_000_000, 41, 7, completed, ResultDocument.GenerateEndpoint, "stop");

        var view = ResultDocument.Read(ResultDocument.Build("1076532519", "b1", input, answer, meta));

        Assert.Equal("1076532519", view.Id);
        Assert.Equal("b1", view.Batch);
        Assert.Equal(answer, view.Answer);
        Assert.Equal(new string('x', answerLength / 2), view.Input.Single(p => p.Key == "note").Value);
        Assert.Equal("São Paulo", view.Input.Single(p => p.Key == "city").Value);
        Assert.Equal((2, "silo-1", "qwen2:1.5b", completed), (view.Attempts, view.Silo, view.Model, view.CompletedAt));
        Assert.Equal(new TokenUsage(41, 7, TimeSpan.FromSeconds(1.5)), view.Usage);
    }
}
