using OrleansLlm.Queue;

namespace OrleansLlm.Tests.Queue;

/// <summary>The envelope's C# side: which batch ids it takes, and what an enveloped item reads back as.</summary>
[Trait("Category", "Unit")]
public sealed class EnvelopeEncodingTests
{
    [Fact]
    public void ValidBatchIds_AreExactlyTheOnesBothSidesAccept()
    {
        foreach (var (payload, expected) in EnvelopeTests.Cases.Select(c => ((string)c[0], (string)c[1])))
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
