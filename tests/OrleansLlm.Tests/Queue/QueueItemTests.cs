using System.Text.Json;
using OrleansLlm.Queue;
using OrleansLlm.Worker;

namespace OrleansLlm.Tests.Queue;

[Trait("Category", "Unit")]
public sealed class QueueItemTests
{
    [Fact]
    public void RawItem_UsesItsOwnId_ElseAContentHash()
    {
        Assert.Null(QueueItem.TryParse("{\"city\":\"Paris\",\"id\":\"1250015082\"}", 1024, out var withId));
        Assert.Null(QueueItem.TryParse("{\"city\":\"Paris\"}", 1024, out var withoutId));
        Assert.Null(QueueItem.TryParse("{\"city\":\"Paris\"}", 1024, out var again));

        Assert.Equal(("1250015082", BatchIds.Default), (withId!.Id, withId.BatchId));
        Assert.StartsWith("h-", withoutId!.Id);
        Assert.Equal(withoutId.Id, again!.Id);
    }

    [Theory]
    [InlineData("nope", "not valid JSON")]
    [InlineData("42", "not a JSON object but number")]
    [InlineData("{\"olm\":{\"b\":\"x\"},\"item\":{}}", "envelope without")]
    [InlineData("{\"olm\":{\"b\":\"x\",\"id\":7},\"item\":{}}", "envelope without a string \"id\"")]
    [InlineData("{\"olm\":{\"b\":\"x y\",\"id\":\"1\"},\"item\":{}}", "envelope without a valid batch id")]
    [InlineData("{\"city\":\"\\ud800\",\"id\":\"\\ud800\"}", "unreadable JSON")]
    public void MalformedPayload_GivesAReason(string payload, string reason)
    {
        Assert.Contains(reason, QueueItem.TryParse(payload, 1024, out var item));
        Assert.Null(item);
    }

    [Fact]
    public void PromptTemplate_FillsFieldsAsData_AndNamesMissingOnes()
    {
        var template = PromptTemplate.Parse("Mayor of {city} in {country}?");
        using var doc = JsonDocument.Parse("{\"city\":\"{country}\",\"country\":\"France\",\"pop\":12}");

        Assert.Equal("Mayor of {country} in France?", template.Render(doc.RootElement, out _));
        Assert.Null(PromptTemplate.Parse("Size of {pop} {area}").Render(doc.RootElement, out var missing));
        Assert.Equal("area", missing);
        Assert.NotNull(PromptTemplate.TryParse("no placeholders", out _));
    }
}
