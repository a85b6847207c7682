package io.gpud.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Schemas as clients send them: OpenAI strict, zod-to-json-schema, the AI SDK, hand-written. */
final class Schemas {
    private Schemas() {
    }

    record Named(String name, JsonNode schema) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final List<Named> ALL = list(
            "strict person", """
            {"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
             "tags":{"type":"array","items":{"type":"string"}}},
             "required":["name","age","tags"],"additionalProperties":false}""",
            "zod weather with definitions", """
            {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{
             "city":{"type":"string","description":"the city"},
             "unit":{"type":"string","enum":["celsius","fahrenheit"],"default":"celsius"},
             "forecast":{"type":"array","items":{"$ref":"#/definitions/day"},"minItems":1,"maxItems":3},
             "note":{"anyOf":[{"type":"string","maxLength":20},{"type":"null"}]}},
             "required":["city","unit","forecast","note"],"additionalProperties":false,
             "definitions":{"day":{"type":"object","properties":{"date":{"type":"string","format":"date"},
              "high":{"type":"number","minimum":-50,"maximum":60},"rain":{"type":"boolean"}},
              "required":["date","high","rain"],"additionalProperties":false}}}""",
            "recursive tree with $defs", """
            {"type":"object","properties":{"name":{"type":"string"},
             "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["name"],
             "$defs":{"node":{"type":"object","properties":{"name":{"type":"string","maxLength":8},
              "children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},
              "required":["name","children"],"additionalProperties":false}}}""",
            "numbers and formats", """
            {"type":"object","properties":{"count":{"type":"integer","minimum":1,"maximum":100},
             "temperature":{"type":"number","minimum":-20.5,"maximum":45.5},
             "below":{"type":"integer","exclusiveMaximum":-3},"big":{"type":"integer","minimum":100000},
             "any":{"type":"number"},"id":{"type":"string","format":"uuid"},
             "when":{"type":"string","format":"date-time"},"at":{"type":"string","format":"time"}},
             "required":["count","temperature","below","big","any","id","when","at"],"additionalProperties":false}""",
            "tuple", """
            {"type":"array","prefixItems":[{"type":"string"},{"type":"integer"},{"type":"boolean"}],
             "items":false,"minItems":3}""",
            "type arrays and lengths", """
            {"type":"object","properties":{"v":{"type":["string","integer","null"]},
             "s":{"type":"string","minLength":3,"maxLength":5}},"required":["v","s"]}""",
            "disjoint oneOf", """
            {"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},
              "required":["kind","r"],"additionalProperties":false},
             {"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"integer"}},
              "required":["kind","side"],"additionalProperties":false}]}""",
            "json_object", null,
            "map of integers", """
            {"type":"object","additionalProperties":{"type":"integer"}}""",
            "optional properties", """
            {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"boolean"},
             "d":{"type":"null"}},"required":["c"]}""",
            "mixed enum", """
            {"enum":["red",1,12,null,{"x":[1,2]},"r\\u00e9d"]}""",
            "unicode and quoted names", """
            {"type":"object","properties":{"名前":{"type":"string"},"quote\\"d":{"const":"x\\ny"}},
             "required":["名前","quote\\"d"],"additionalProperties":false}""",
            "anything", "{}",
            "array of arrays", """
            {"type":"array","items":{"type":"array","items":{"type":"number"},"maxItems":3},"minItems":2,"maxItems":4}""");

    private static List<Named> list(String... pairs) {
        var named = new ArrayList<Named>();
        for (int i = 0; i < pairs.length; i += 2) {
            named.add(new Named(pairs[i], pairs[i + 1] == null ? null : SchemaCheck.json(pairs[i + 1])));
        }
        return List.copyOf(named);
    }
}
