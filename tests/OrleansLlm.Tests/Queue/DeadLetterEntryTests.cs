using OrleansLlm.Queue;

namespace OrleansLlm.Tests.Queue;

/// <summary>Reading the dead-letter list as the Lua scripts write it (cjson: no error field when there was none, '/' escaped).</summary>
[Trait("Category", "Unit")]
public sealed class DeadLetterEntryTests
{
    [Fact]
    public void EnvelopedItem_IsReadOutOfItsEnvelope()
    {
        var payload = Envelope.Encode("b-1", "z1", "{\"city\":\"Zzyzx\",\"country\":\"États-Unis\"}");
        var entry = $"{{\"reason\":\"failed 2 attempts\",\"error\":\"Ollama returned HTTP 500\",\"attempts\":2,\"batch\":\"b-1\",\"owner\":\"127.0.0.1:11111@42\",\"at\":1733100000123,\"item\":{JsonText.Quote(payload)}}}";

        var letter = DeadLetterEntry.Parse(entry);

        Assert.Equal(new DeadLetter("b-1", "z1", "failed 2 attempts", "Ollama returned HTTP 500", 2, "127.0.0.1:11111@42",
            DateTimeOffset.FromUnixTimeMilliseconds(1733100000123), "{\"city\":\"Zzyzx\",\"country\":\"États-Unis\"}"), letter);
    }

    [Fact]
    public void MalformedRawItem_WithoutAnError_KeepsThePayloadAsText()
    {
        var entry = "{\"batch\":\"default\",\"item\":\"not json \\/ at all\",\"at\":1733100000000,\"attempts\":1,\"owner\":\"s\",\"reason\":\"malformed item: not valid JSON\"}";

        var letter = DeadLetterEntry.Parse(entry);

        Assert.Null(letter.ItemId);
        Assert.Null(letter.Error);
        Assert.Equal("not json / at all", letter.Item);
        Assert.Equal(BatchIds.Default, letter.Batch);
    }

    [Fact]
    public void UnreadableEntry_IsShownAsItIs_NotDropped()
    {
        var letter = DeadLetterEntry.Parse("pushed by hand");

        Assert.StartsWith("unreadable dead-letter entry:", letter.Reason);
        Assert.Equal("pushed by hand", letter.Item);
    }
}
