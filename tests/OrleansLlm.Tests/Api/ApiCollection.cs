namespace OrleansLlm.Tests.Api;

/// <summary>The API's test classes share one pair of silo processes: starting them is most of what they cost.</summary>
[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiSilos>
{
    public const string Name = "api";
}
