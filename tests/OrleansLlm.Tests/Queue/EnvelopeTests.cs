using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Queue;

/// <summary>The envelope in C# and its Lua twin read every payload's batch alike.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class EnvelopeTests(RedisServer redis)
{
    private static readonly string Longest = new('b', 64);

    // Payloads as the queue stores them: the batch store's envelope with the number enqueue.lua gives each item.
    public static TheoryData<string, string> Cases => new()
    {
        { """{"olm":{"b":"b-1","n":1,"id":"x"},"item":{}}""", "b-1" },
        { """{"olm":{"b":"ok.b_1-2","n":22,"tp":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","id":"x"},"item":{}}""", "ok.b_1-2" },
        { """{"olm":{"b":"7","n":7,"id":"x"},"item":{}}""", "7" },
        { Envelope.Prefix + Longest + "\",\"n\":1,\"id\":\"x\"},\"item\":{}}", Longest },
        { Envelope.Prefix + Longest + "b\",\"n\":1,\"id\":\"x\"},\"item\":{}}", BatchIds.Default },
        { """{"olm":{"b":"evil batch","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"-starts-with-dash","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":".dot","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"ünïcode","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"a/b","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { """{"olm":{"b":"b1""", BatchIds.Default },
        { """{"city":"Paris","olm":{"b":"b1","n":1}}""", BatchIds.Default },
        { """ {"olm":{"b":"b1","n":1,"id":"x"},"item":{}}""", BatchIds.Default },
        { "not json at all", BatchIds.Default },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BatchOf_CSharpAndLua_Agree(string payload, string expected)
    {
        Assert.Equal(expected, Envelope.BatchOf(payload));
        var (batch, _) = (await TestScripts.EnvelopeOfAsync(redis.Connection.GetDatabase(), payload)).Single();
        Assert.Equal(expected, batch ?? BatchIds.Default);
    }

    [Fact]
    public async Task EnvelopeOf_ReadsTheNumber_OnlyRightAfterTheBatch()
    {
        var read = await TestScripts.EnvelopeOfAsync(
            redis.Connection.GetDatabase(),
            """{"olm":{"b":"b-1","n":41,"id":"x"},"item":{}}""",
            """{"olm":{"b":"b-1","n":41}}""",
            // Not enqueued (no number), or a number further on, in the id or the item: not an item of the batch store.
            """{"olm":{"b":"b-1","id":"x"},"item":{"n":3}}""",
            """{"olm":{"b":"b-1","id":"\",\"n\":3,"},"item":{}}""",
            """{"olm":{"b":"b-1","n":4x,"id":"x"},"item":{}}""");

        Assert.Equal([("b-1", "41"), ("b-1", "41"), (null, null), (null, null), (null, null)], read);
    }
}
