using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The envelope in C# and its Lua twin read every payload's batch alike.</summary>
[Collection(RedisCollection.Name)]
public sealed class EnvelopeTests(RedisServer redis)
{
    private static readonly string Longest = new('b', 64);

    public static TheoryData<string, string> Cases => new()
    {
        { """{"olm":{"b":"b-1","id":"x"},"item":{}}""", "b-1" },
        { """{"olm":{"b":"ok.b_1-2","id":"x"},"item":{}}""", "ok.b_1-2" },
        { """{"olm":{"b":"7","id":"x"},"item":{}}""", "7" },
        { Envelope.Prefix + Longest + "\",\"id\":\"x\"},\"item\":{}}", Longest },
        { Envelope.Prefix + Longest + "b\",\"id\":\"x\"},\"item\":{}}", BatchIds.Default },
        { """{"olm":{"b":"evil batch","id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"-starts-with-dash","id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":".dot","id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"","id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"ünïcode","id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"a/b","id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"b1""", BatchIds.Default },
        { """{"city":"Paris","olm":{"b":"b1"}}""", BatchIds.Default },
        { """ {"olm":{"b":"b1","id":"x"},"item":{}}""", BatchIds.Default },
        { "not json at all", BatchIds.Default },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BatchOf_CSharpAndLua_Agree(string payload, string expected)
    {
        Assert.Equal(expected, Envelope.BatchOf(payload));
        var keys = new QueueKeys(LlmClusterOptions.NewQueueName());
        var lua = (RedisResult[])(await redis.Connection.GetDatabase().ScriptEvaluateAsync(
            QueueScripts.BatchOf, keys.Common, QueuePolicy.From(new QueueOptions()).With(payload)))!;
        Assert.Equal(expected, (string?)lua.Single());
    }

    [Fact]
    public void ValidBatchIds_AreExactlyTheOnesBothSidesAccept()
    {
        foreach (var (payload, expected) in Cases.Select(c => ((string)c[0], (string)c[1])))
        {
            if (expected != BatchIds.Default)
            {
                Assert.True(BatchIds.IsValid(expected), expected);
            }
        }

        Assert.False(BatchIds.IsValid("evil batch"));
        Assert.Throws<ArgumentException>(() => Envelope.Encode("evil batch", "1", "{}"));
    }

    [Fact]
    public void Envelope_RoundTrips_WithAwkwardIds()
    {
        var payload = Envelope.Encode("b-1", "id \"quoted\" São", "{\"city\":\"Zürich\"}");

        Assert.Contains("São", payload);
        Assert.Null(QueueItem.TryParse(payload, 1024, out var item));
        Assert.Equal(("b-1", "id \"quoted\" São"), (item!.BatchId, item.Id));
        Assert.Equal("Zürich", item.Item.GetProperty("city").GetString());
    }
}
